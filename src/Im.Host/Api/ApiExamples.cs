using Im.Contracts;

namespace Im.Host.Api;

/// <summary>The spec's flows (7.1, 7.2 and the examples of section 2) as the OpenAPI document's examples.</summary>
public static class ApiExamples
{
    private const string DoctorId = "user_20250127120000_abc12345";
    private const string PatientId = "user_20250127120001_def67890";
    private const string GroupId = "group_20250127120000_xyz12345";
    private const string Created = "2025-01-27T12:00:00";

    public static readonly CreateUserRequest CreateUserRequest = new("张三", UserRoles.Patient);
    public static readonly UserResponse CreateUserResponse = new(1, PatientId, "张三", UserRoles.Patient, Created, Created);

    public static readonly CreateGroupRequest CreateGroupRequest = new("医疗咨询群", "患者与医生的咨询群组");
    public static readonly GroupResponse CreateGroupResponse = new(1, GroupId, "医疗咨询群", "患者与医生的咨询群组", DoctorId, Created, Created);

    public static readonly AddMemberRequest AddMemberRequest = new(PatientId, UserRoles.Patient);

    public static readonly SetGroupAiRequest SetGroupAiRequest = new(AiModes.Auto, PauseAfterDoctorSeconds: 600);
    public static readonly GroupAiResponse SetGroupAiResponse = new(GroupId, AiModes.Auto, 600, DoctorId, Created);

    public static readonly SendMessageRequest SendRequest = new(GroupId, "你好，我想咨询一个问题", ClientMsgId: "c-0001");
    public static readonly MessageResponse SendResponse =
        new(1, "msg_20250127120000_abc12345", GroupId, PatientId, MessageTypes.Text, "你好，我想咨询一个问题", 1, Created, Created);

    // Newest first, as the service lists them: the patient's question, then the AI's reply pushed over WebSocket.
    public static readonly MessageListResponse ListResponse = new(
        [
            new MessageResponse(2, "msg_20250127120001_xyz67890", GroupId, "ai_assistant_001", MessageTypes.AiReply,
                "你好！很高兴为你服务，请告诉我你的问题。", 2, "2025-01-27T12:00:05", "2025-01-27T12:00:05"),
            SendResponse,
        ],
        Total: 2, Page: 1, PageSize: 20);
}
